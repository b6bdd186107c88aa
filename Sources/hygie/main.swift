print("hygie")
