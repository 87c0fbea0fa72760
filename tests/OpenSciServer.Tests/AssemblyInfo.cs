// The platform runs on Linux (bubblewrap, Slurm, Unix file modes); so do its tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
