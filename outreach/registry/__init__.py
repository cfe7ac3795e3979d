"""The registry: places (county → township → village → grid), households and residents."""
