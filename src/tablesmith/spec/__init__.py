"""The spec stage: model, loaders (YAML, HCL), environments, validation."""
