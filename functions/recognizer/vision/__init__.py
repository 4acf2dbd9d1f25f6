"""Image maths: arrays (and decoded Pillow images) in, arrays out. No settings, no I/O, no HTTP."""
