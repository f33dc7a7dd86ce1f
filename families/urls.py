from django.urls import path

from families import views

app_name = "families"
urlpatterns = [
    path("families/", views.family_list, name="family_list"),
]
