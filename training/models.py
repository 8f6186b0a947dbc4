"""Models of the training app (runs and their events) arrive with the training issue."""
