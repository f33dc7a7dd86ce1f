from django.urls import path

from families import export_views, list_views, settings_views, staff_views, views
from families.importing import views as import_views
from smsvoice import api_keys_views

app_name = "families"
urlpatterns = [
    path("families/", list_views.family_list, name="family_list"),
    path("students/", list_views.student_list, name="student_list"),
    path("staff/", list_views.staff_list, name="staff_list"),
    path("selection/<str:kind>/", list_views.selection_update, name="selection"),
    # The family page, staff pages and settings.
    path("families/new/", views.family_create, name="family_create"),
    # Families > Import (issue 14): upload, mapping, preview, progress, report.
    path("families/import/", import_views.import_upload, name="import_upload"),
    path("families/import/<int:pk>/", import_views.import_mapping, name="import_mapping"),
    path(
        "families/import/<int:pk>/preview/", import_views.import_preview, name="import_preview"
    ),
    path("families/import/<int:pk>/start/", import_views.import_start, name="import_start"),
    path(
        "families/import/<int:pk>/progress/",
        import_views.import_progress,
        name="import_progress",
    ),
    path("families/import/<int:pk>/report.csv", import_views.import_report, name="import_report"),
    path("families/<int:pk>/", views.family_detail, name="family_detail"),
    path("families/<int:pk>/edit/", views.family_edit, name="family_edit"),
    path(
        "families/<int:pk>/phones/<int:field_pk>/",
        views.family_phone_set,
        name="family_phone_set",
    ),
    path(
        "families/<int:pk>/phones/<int:field_pk>/remove/",
        views.family_phone_remove,
        name="family_phone_remove",
    ),
    path("families/<int:pk>/guardians/add/", views.guardian_add, name="guardian_add"),
    path(
        "families/<int:pk>/guardians/<int:guardian_pk>/edit/",
        views.guardian_edit,
        name="guardian_edit",
    ),
    path(
        "families/<int:pk>/guardians/<int:guardian_pk>/remove/",
        views.guardian_remove,
        name="guardian_remove",
    ),
    path("families/<int:pk>/students/add/", views.student_add, name="student_add"),
    path(
        "families/<int:pk>/students/<int:student_pk>/edit/",
        views.student_edit,
        name="student_edit",
    ),
    path(
        "families/<int:pk>/students/<int:student_pk>/remove/",
        views.student_remove,
        name="student_remove",
    ),
    path("phones/<int:pk>/text-capable/", views.phone_text_capable, name="phone_text_capable"),
    path("phones/<int:pk>/texts-on/", views.phone_texts_on, name="phone_texts_on"),
    path("phones/<int:pk>/texts-off/", views.phone_texts_off, name="phone_texts_off"),
    path("staff/new/", staff_views.staff_create, name="staff_create"),
    path("staff/<int:pk>/", staff_views.staff_detail, name="staff_detail"),
    path("staff/<int:pk>/edit/", staff_views.staff_edit, name="staff_edit"),
    path("staff/<int:pk>/phones/add/", staff_views.staff_phone_add, name="staff_phone_add"),
    path(
        "staff/<int:pk>/phones/<int:phone_pk>/",
        staff_views.staff_phone_edit,
        name="staff_phone_edit",
    ),
    path(
        "staff/<int:pk>/phones/<int:phone_pk>/remove/",
        staff_views.staff_phone_remove,
        name="staff_phone_remove",
    ),
    path("settings/", settings_views.settings_index, name="settings"),
    path("settings/family-template/", settings_views.phone_field_list, name="phone_field_list"),
    path("settings/family-template/add/", settings_views.phone_field_add, name="phone_field_add"),
    path(
        "settings/family-template/<int:pk>/edit/",
        settings_views.phone_field_edit,
        name="phone_field_edit",
    ),
    path(
        "settings/family-template/<int:pk>/move/",
        settings_views.phone_field_move,
        name="phone_field_move",
    ),
    path(
        "settings/family-template/<int:pk>/delete/",
        settings_views.phone_field_delete,
        name="phone_field_delete",
    ),
    path("settings/family-policies/", settings_views.policy, name="policy"),
    path("settings/export/<str:kind>.csv", export_views.directory_export, name="export"),
    path("settings/api-keys/", api_keys_views.api_key_list, name="api_keys"),
    path("settings/api-keys/add/", api_keys_views.api_key_add, name="api_key_add"),
    path(
        "settings/api-keys/<int:pk>/revoke/",
        api_keys_views.api_key_revoke_view,
        name="api_key_revoke",
    ),
]
