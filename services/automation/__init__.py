"""What the system answers by itself: business hours (`availability`), the out-of-hours
auto-reply, quick messages and the variables they expand."""
