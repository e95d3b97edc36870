"""DRF authentication that reuses what the RLS middleware already resolved for the request."""
