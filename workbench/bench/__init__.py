"""`manage.py benchmark`: the API served by gunicorn or granian on generated data, under load, beside its
baselines."""
