"""Values: settings, results, progress events, errors, image references, durations, clocks.

Pure data and pure functions. No I/O here (the one exception is `config.load_file`, which reads
the configuration file it is given), and nothing from a higher layer.
"""
