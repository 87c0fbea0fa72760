using System.ComponentModel.DataAnnotations;

namespace OpenSciServer.Compute.Slurm;

/// <summary>How the platform reaches a Slurm cluster (section "Compute:Slurm"), for sessions and jobs.</summary>
public sealed class SlurmOptions
{
    public const string SectionName = "Compute:Slurm";

    [Required]
    public string SbatchPath { get; set; } = "/usr/bin/sbatch";

    [Required]
    public string SqueuePath { get; set; } = "/usr/bin/squeue";

    [Required]
    public string ScontrolPath { get; set; } = "/usr/bin/scontrol";

    [Required]
    public string ScancelPath { get; set; } = "/usr/bin/scancel";

    /// <summary>The cluster's slurm.conf (SLURM_CONF for every command). Empty: Slurm's own default, /etc/slurm/slurm.conf.</summary>
    public string? ConfigPath { get; set; }

    /// <summary>The partition of a domain that names none. Empty: the cluster's default partition.</summary>
    [RegularExpression("^[A-Za-z0-9_.-]*$", ErrorMessage = "Compute:Slurm:DefaultPartition is a partition name (letters, digits, _ . -).")]
    public string? DefaultPartition { get; set; }

    /// <summary>
    /// A folder on the file system the nodes share with the platform, at the same path, where the
    /// platform writes each session's job script and sandbox files and the job reports Jupyter's host
    /// and port (root-only). Empty: &lt;Platform:DataDirectory&gt;/compute/slurm.
    /// </summary>
    public string? SharedFolder { get; set; }

    /// <summary>How long one Slurm command may take (a controller that does not answer makes them wait).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00", ErrorMessage = "Compute:Slurm:CommandTimeout must be between 1 second and 10 minutes.")]
    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The slurm.conf Slurm's commands read.</summary>
    public string EffectiveConfigPath => string.IsNullOrWhiteSpace(ConfigPath) ? "/etc/slurm/slurm.conf" : ConfigPath;
}
