"""/api/v1/ routes of the people directory (reversed as ``families_api:<name>``)."""

from django.urls import path

from families import api

app_name = "families_api"
urlpatterns = [
    path("families/", api.FamilyListAPI.as_view(), name="family_list"),
    path("students/", api.StudentListAPI.as_view(), name="student_list"),
    path("staff/", api.StaffListAPI.as_view(), name="staff_list"),
    path("selections/count/", api.SelectionCountAPI.as_view(), name="selection_count"),
]
