using System.ComponentModel.DataAnnotations;

namespace OpenSciServer.Files;

/// <summary>Root volumes, data volumes, quotas and the Temporary purge (section "Files").</summary>
public sealed class FilesOptions : IValidatableObject
{
    public const string SectionName = "Files";

    /// <summary>
    /// The root volumes. Each is a folder holding one folder per user, each holding that user's user
    /// volumes. At an HPC centre, point Path at the shared parallel file system.
    /// </summary>
    public List<RootVolumeOptions> RootVolumes { get; set; } = [];

    /// <summary>The root volumes when configuration names none: Storage and Temporary as in SciServer.</summary>
    public static List<RootVolumeOptions> DefaultRootVolumes() =>
    [
        new()
        {
            Name = "Storage",
            Description = "Persistent, backed-up storage for scripts, notebooks and small data. Quota'd.",
            DefaultUserVolumes = ["persistent"],
            QuotaBytes = 10L * 1024 * 1024 * 1024,
            QuotaFiles = 200_000,
        },
        new()
        {
            Name = "Temporary",
            Description = "Large scratch space without quota. Files not modified for a while are deleted.",
            DefaultUserVolumes = ["scratch", "jobs"],
            PurgeAfterDays = 30,
        },
    ];

    /// <summary>Where admins' data volumes may live; empty means &lt;data&gt;/volumes/Data. Registered folders must be inside it.</summary>
    public string? DataVolumesPath { get; set; }

    /// <summary>How often the purge of old files in Temporary runs.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00", ErrorMessage = "Files:PurgeInterval must be between 1 minute and 7 days.")]
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How long an interrupted upload may be resumed before its partial file is removed.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00", ErrorMessage = "Files:PartialUploadLifetime must be between 1 minute and 30 days.")]
    public TimeSpan PartialUploadLifetime { get; set; } = TimeSpan.FromDays(2);

    /// <summary>How long a measured quota usage is trusted before the volume is walked again.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan UsageCacheLifetime { get; set; } = TimeSpan.FromSeconds(60);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RootVolumes.Count == 0)
        {
            yield return new ValidationResult("Files:RootVolumes must name at least one root volume.");
        }

        foreach (var root in RootVolumes)
        {
            if (string.IsNullOrWhiteSpace(root.Name) || !root.Name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                yield return new ValidationResult($"Files:RootVolumes: '{root.Name}' is not a valid root volume name (letters, digits, _ and -).");
            }

            foreach (var volume in root.DefaultUserVolumes)
            {
                if (!UserVolumeNames.IsValid(volume))
                {
                    yield return new ValidationResult($"Files:RootVolumes:{root.Name}: '{volume}' is not a valid user volume name.");
                }
            }

            if (root.QuotaBytes is < 0 || root.QuotaFiles is < 0 || root.PurgeAfterDays is < 1)
            {
                yield return new ValidationResult($"Files:RootVolumes:{root.Name}: quotas must be positive and PurgeAfterDays at least 1.");
            }
        }

        if (RootVolumes.GroupBy(r => r.Name, StringComparer.OrdinalIgnoreCase).Any(g => g.Count() > 1))
        {
            yield return new ValidationResult("Files:RootVolumes: names must be unique.");
        }
    }
}

public sealed class RootVolumeOptions
{
    public string Name { get; set; } = "";

    public string Description { get; set; } = "";

    /// <summary>The folder; empty means &lt;data&gt;/volumes/&lt;Name&gt;.</summary>
    public string? Path { get; set; }

    /// <summary>User volumes every user gets in this root.</summary>
    public List<string> DefaultUserVolumes { get; set; } = [];

    /// <summary>Default per-user byte quota in this root; null is unlimited. Admins override it per user.</summary>
    public long? QuotaBytes { get; set; }

    /// <summary>Default per-user file-count quota in this root; null is unlimited.</summary>
    public long? QuotaFiles { get; set; }

    /// <summary>Files not modified for this many days are deleted; null keeps them.</summary>
    public int? PurgeAfterDays { get; set; }
}
