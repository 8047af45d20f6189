from django.contrib import admin

from storage.models import Blob, Upload


@admin.register(Blob)
class BlobAdmin(admin.ModelAdmin):
    list_display = ["sha256", "size", "created", "last_written", "corrupt"]
    list_filter = [("corrupt", admin.EmptyFieldListFilter)]
    search_fields = ["sha256"]
    readonly_fields = [
        "sha256",
        "size",
        "sha512",
        "sha1",
        "md5",
        "created",
        "last_written",
        "corrupt",
    ]


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ["id", "scope", "size", "owner", "started", "updated"]
    readonly_fields = ["id", "scope", "size", "owner", "started", "updated"]
