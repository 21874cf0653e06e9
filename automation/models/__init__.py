from .changes import ChangeEvent, DerivedTriggerEvent, SubscriptionDelivery, Transition

__all__ = ["ChangeEvent", "DerivedTriggerEvent", "SubscriptionDelivery", "Transition"]
