# Versions of the configs this recipe ships; bump one when its file changes.
export PG_ENTRYPOINT_VERSION=v1
