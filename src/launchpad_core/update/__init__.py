"""Keeping generated projects current: the update flow (``updating``), the three-way merge
(``merging``) and applying it all or nothing (``project_writes``)."""
