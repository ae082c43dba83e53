class MotionModuleError(ValueError):
    """A motion-module file or input that cannot be used; the message says which and what to do."""
