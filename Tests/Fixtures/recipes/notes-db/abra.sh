# Versions of the configs this recipe ships; bump one when its file changes.
export INDEX_VERSION=v1
export SCHEMA_VERSION=v1
