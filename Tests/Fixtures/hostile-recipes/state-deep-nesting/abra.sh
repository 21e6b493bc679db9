# Versions of the configs this recipe ships; bump one when its file changes.
export INDEX_VERSION=v1
