"""pylitestream as a Django app: add "pylitestream.django" to INSTALLED_APPS.

It brings `manage.py litestream <command>` (every pylitestream command, Django database aliases
accepted wherever a database path is) and system checks (`manage.py check`, `check --deploy`).
`settings.LITESTREAM` needs no app at all: every pylitestream entry point reads it whenever
DJANGO_SETTINGS_MODULE is set (config/framework.py).
"""
