app_name = "npm"
urlpatterns: list = []
