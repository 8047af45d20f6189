app_name = "oci"
urlpatterns: list = []
