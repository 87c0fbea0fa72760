using OpenSciServer.Accounts;
using OpenSciServer.Files;
using OpenSciServer.Infrastructure;
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

    /// <summary>The volume pickers of the New Job and schedule forms: every user volume the user owns or is shared, every data volume they may read.</summary>
    public static async Task<(List<VolumeChoice> User, List<VolumeChoice> Data)> VolumeChoicesAsync(VolumeService volumes, Caller caller, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(volumes);
        var reachable = (await volumes.OwnedAsync(caller, ct)).Concat(await volumes.SharedWithAsync(caller, ct));
        return (reachable.Select(v => new VolumeChoice { Key = $"{v.RootVolume}/{v.Owner}/{v.Name}" }).ToList(),
            (await volumes.DataVolumesAsync(caller, ct)).Select(d => new VolumeChoice { Key = d.Name }).ToList());
    }

    /// <summary>The user volumes ticked in a picker.</summary>
    public static List<JobUserVolume> ChosenUserVolumes(IEnumerable<VolumeChoice> choices)
    {
        ArgumentNullException.ThrowIfNull(choices);
        var chosen = new List<JobUserVolume>();
        foreach (var v in choices.Where(v => v.Selected))
        {
            var parts = v.Key.Split('/');
            if (parts.Length != 3)
            {
                throw PlatformException.Invalid("Unknown volume.");
            }

            chosen.Add(new JobUserVolume(parts[0], parts[1], parts[2], v.Writable));
        }

        return chosen;
    }

    /// <summary>The data volumes ticked in a picker.</summary>
    public static List<string> ChosenDataVolumes(IEnumerable<VolumeChoice> choices) =>
        choices.Where(d => d.Selected).Select(d => d.Key).ToList();

    /// <summary>Ticks what a submission mounts (a form filled from a job or a schedule); a volume no longer reachable is added, so nothing is dropped silently.</summary>
    public static void Tick(List<VolumeChoice> user, List<VolumeChoice> data, JobSubmission submission)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(submission);
        foreach (var v in submission.UserVolumes)
        {
            var key = $"{v.RootVolume}/{v.Owner}/{v.Name}";
            var choice = user.FirstOrDefault(c => c.Key == key) ?? Add(user, key);
            choice.Selected = true;
            choice.Writable = v.Writable;
        }

        foreach (var name in submission.DataVolumes)
        {
            (data.FirstOrDefault(c => c.Key == name) ?? Add(data, name)).Selected = true;
        }

        static VolumeChoice Add(List<VolumeChoice> list, string key)
        {
            var choice = new VolumeChoice { Key = key };
            list.Add(choice);
            return choice;
        }
    }

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
