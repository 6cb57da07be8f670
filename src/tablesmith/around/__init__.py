"""The resources around a table, one module per family (``backup``, ``alarms``, ...).

``contract.py`` says what a family provides (``ResourceFamily``): its endpoint probe, its
read (``FamilyState``, kept in ``LiveState.around`` and fingerprinted), its pure diff and
diff-for-destroy, typed operations with typed handlers, describe lines, outputs and export
hooks. ``registry.py`` lists the families; the pipeline's stages loop over it and never name
one. A new family is its module plus one line in the registry (and its spec field).
"""
