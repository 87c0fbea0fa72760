using OpenSciServer.Compute;
using OpenSciServer.Compute.Backends;

namespace OpenSciServer.Jobs;

/// <summary>
/// The one sandbox a job runs in, whichever backend starts it: the sessions' bubblewrap sandbox
/// (<see cref="Sandbox"/>) with the job's home, volumes, working directory and environment, running the
/// platform's wrapper (<see cref="JobFiles.Wrapped"/>) as the user's uid. The local backend runs it
/// detached on this machine, the Slurm backend from a job script on a node.
/// </summary>
internal static class JobSandbox
{
    /// <summary>
    /// Writes the sandbox's generated passwd and group into <paramref name="privateFolder"/> (the
    /// platform's, never mounted as a whole) and returns the command line, bubblewrap first.
    /// </summary>
    public static IReadOnlyList<string> Command(JobLaunch launch, string privateFolder, ComputeOptions options)
    {
        ArgumentNullException.ThrowIfNull(launch);
        ArgumentNullException.ThrowIfNull(options);
        Sandbox.WriteIdentityFiles(privateFolder, launch.UserName, launch.Uid, launch.Gid);
        var spec = new SandboxSpec(launch.UserName, launch.Uid, launch.Gid, launch.HomeFolder, launch.Mounts, privateFolder, launch.Command)
        {
            WorkingDirectory = launch.WorkingDirectory,
            Environment = launch.Environment,
        };
        return [options.BubblewrapPath, .. Sandbox.Arguments(spec, options)];
    }
}
