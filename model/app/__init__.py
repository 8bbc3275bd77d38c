"""The planner dashboard (``tuopin app``): the page (``page``) and what it computes (``data``)."""
