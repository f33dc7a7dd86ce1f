"""/api/v1/ routes of the people directory (reversed as ``families_api:<name>``)."""

from django.urls import path

from families import api, api_write, export_views

app_name = "families_api"
urlpatterns = [
    path("families/", api_write.FamilyListCreateAPI.as_view(), name="family_list"),
    path("students/", api_write.StudentListCreateAPI.as_view(), name="student_list"),
    path("staff/", api.StaffListAPI.as_view(), name="staff_list"),
    path("selections/count/", api.SelectionCountAPI.as_view(), name="selection_count"),
    path("export/<str:kind>/", export_views.DirectoryExportAPI.as_view(), name="export"),
    # The write API (families.api_write): by id, and by the external id of another system.
    path("families/<int:pk>/", api_write.FamilyByIdAPI.as_view(), name="family_detail"),
    path(
        "families/by-external-id/<str:external_id>/",
        api_write.FamilyByExternalIdAPI.as_view(),
        name="family_by_external_id",
    ),
    path(
        "families/<int:pk>/numbers/<str:field>/",
        api_write.FamilyNumberByIdAPI.as_view(),
        name="family_number",
    ),
    path(
        "families/by-external-id/<str:external_id>/numbers/<str:field>/",
        api_write.FamilyNumberByExternalIdAPI.as_view(),
        name="family_number_by_external_id",
    ),
    path("guardians/", api_write.GuardianCreateAPI.as_view(), name="guardian_list"),
    path("guardians/<int:pk>/", api_write.GuardianByIdAPI.as_view(), name="guardian_detail"),
    path(
        "guardians/by-external-id/<str:external_id>/",
        api_write.GuardianByExternalIdAPI.as_view(),
        name="guardian_by_external_id",
    ),
    path("students/<int:pk>/", api_write.StudentByIdAPI.as_view(), name="student_detail"),
    path(
        "students/by-external-id/<str:external_id>/",
        api_write.StudentByExternalIdAPI.as_view(),
        name="student_by_external_id",
    ),
]
