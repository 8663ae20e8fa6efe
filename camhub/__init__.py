"""camhub: turn phones, webcams and Pis into one live camera network."""
