"""`manage.py benchmark`: the API served by gunicorn on generated data, under load, beside its baselines."""
