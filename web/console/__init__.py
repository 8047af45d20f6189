"""The admin console at /ui/admin/: repositories, access, tasks, audit log and storage."""
