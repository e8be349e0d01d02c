"""What gunicorn serves: `gunicorn -c gunicorn.conf.py wsgi:app`."""
from bank import create_app

app = create_app()
