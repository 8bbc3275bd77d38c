"""The simulated year and its rules: the Mesa model (``model``), the year's order (``loop``), what
a year reports (``flows``), household/village/county arrays (``agents``), the register
(``population``, ``register``) and one module per rule (``income``, ``interventions/``,
``funding``, ``assessment``, ``relapse``, ``villages``). ``reference`` is the same rules written
one Mesa agent per household.
"""
