"""Models of the graphs app (graphs, versions, teams) arrive with the persistence issue."""
