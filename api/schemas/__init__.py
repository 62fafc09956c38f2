"""Request and response models of the API, one module per resource; `common` holds the
shapes every resource shares (money, timestamps, pages)."""
