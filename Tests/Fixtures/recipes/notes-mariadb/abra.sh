# Versions of the configs this recipe ships; bump one when its file changes.
export SERVER_CNF_VERSION=v1
