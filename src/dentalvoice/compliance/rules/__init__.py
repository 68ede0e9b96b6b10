"""The compliance rules as versioned data files: rules.yaml, zones.yaml and area_codes.yaml."""
