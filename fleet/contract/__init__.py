"""The public offer (договор-оферта): sign up and book first, accept it before paying."""
