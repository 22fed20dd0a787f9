"""Notifications: in the cabinet (unread count in the layout) and by e-mail, as each user chose."""
