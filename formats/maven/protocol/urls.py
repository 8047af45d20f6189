app_name = "maven"
urlpatterns: list = []
