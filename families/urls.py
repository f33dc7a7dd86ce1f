from django.urls import path

from families import list_views

app_name = "families"
urlpatterns = [
    path("families/", list_views.family_list, name="family_list"),
    path("students/", list_views.student_list, name="student_list"),
    path("staff/", list_views.staff_list, name="staff_list"),
    path("selection/<str:kind>/", list_views.selection_update, name="selection"),
    path(
        "selection/<str:kind>/dialog/<str:channel>/",
        list_views.selection_dialog,
        name="selection_dialog",
    ),
]
