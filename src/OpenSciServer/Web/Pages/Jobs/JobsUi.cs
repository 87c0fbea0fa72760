using OpenSciServer.Jobs;

namespace OpenSciServer.Web.Pages.Jobs;

/// <summary>How the Jobs pages show a status.</summary>
public static class JobsUi
{
    public static string Label(JobStatus status) => status.ToString().ToUpperInvariant();

    public static string Badge(JobStatus status) => status switch
    {
        JobStatus.Success => "text-bg-success",
        JobStatus.Error => "text-bg-danger",
        JobStatus.Canceled => "text-bg-secondary",
        JobStatus.Started => "text-bg-primary",
        _ => "text-bg-warning",
    };

    /// <summary>One form row per volume the user may mount (mount it? writable?).</summary>
    public sealed class VolumeChoice
    {
        public string Key { get; set; } = "";

        public bool Selected { get; set; }

        public bool Writable { get; set; }
    }

    public sealed class NewJobInput
    {
        public string Kind { get; set; } = "command";

        public string? Command { get; set; }

        public string? NotebookPath { get; set; }

        public string? Parameters { get; set; }

        public string? Domain { get; set; }

        public string? Image { get; set; }

        public string? TimeLimit { get; set; }

        public string? WorkingDirectory { get; set; }

        public string? Name { get; set; }

        public List<VolumeChoice> UserVolumes { get; set; } = [];

        public List<VolumeChoice> DataVolumes { get; set; } = [];
    }
}
