"""DRF permissions from the request's tenant role."""
