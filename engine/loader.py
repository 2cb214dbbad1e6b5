# Placeholder until the loader lands: keeps the package importable.
from .report import LoadProblem


class ConfigLoadError(Exception):
    def __init__(self, problem):
        self.problem = problem


class SourceMap:
    def locate(self, path):
        return None, None


class LoadedDocument:
    pass


def load_yaml(source):
    raise NotImplementedError
