from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("policies/", views.policies, name="policies"),
    path("phones/<int:field_pk>/", views.phone_save, name="phone_save"),
    path("phones/<int:field_pk>/remove/", views.phone_remove, name="phone_remove"),
    path("numbers/<int:pk>/texts/yes/", views.texts_yes, name="texts_yes"),
    path("numbers/<int:pk>/texts/no/", views.texts_no, name="texts_no"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password-reset/", views.password_reset, name="password_reset"),
    path("password-reset/sent/", views.password_reset_done, name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        views.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("invitation/<str:token>/", views.invitation, name="invitation"),
    # Staff: the "Invite to portal" button on the family page.
    path("invite/<int:guardian_pk>/", views.guardian_invite, name="guardian_invite"),
]
