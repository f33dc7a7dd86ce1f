app_name = "credits"
urlpatterns: list = []
