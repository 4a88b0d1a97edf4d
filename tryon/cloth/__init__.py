"""Secondary motion: loose garments and jewelry simulated after skinning (XPBD).

``xpbd.py`` the solver, ``tethers.py`` which part of a garment moves and how far,
``chains.py`` jewelry as particle chains, ``colliders.py`` the body's capsules, ``stage.py``
the engine's cloth stage.
"""
