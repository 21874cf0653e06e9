#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "checkstack.settings")
    if sys.argv[1:2] == ["checkstack_prober"]:
        # A remote prober: no database, broker or key of the core (checkstack/settings.py).
        os.environ.setdefault("CHECKSTACK_ROLE", "prober")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
