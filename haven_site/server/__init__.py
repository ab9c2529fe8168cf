"""Haven's additions to Daphne, wired together by ``haven_site.serve``."""
