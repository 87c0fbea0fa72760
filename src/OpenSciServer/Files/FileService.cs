using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.Options;
using Microsoft.Win32.SafeHandles;
using OpenSciServer.Accounts;
using OpenSciServer.Authorization;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Files;

public sealed record FileEntry(string Name, bool IsFolder, long Size, DateTimeOffset LastModified, DateTimeOffset Created);

public sealed record FolderListing(string Path, int Total, int Offset, IReadOnlyList<FileEntry> Entries);

/// <summary>A folder with its subfolders (each a tree) and files, down to a requested depth.</summary>
public sealed record FolderTree(FileEntry Folder, IReadOnlyList<FolderTree> Folders, IReadOnlyList<FileEntry> Files);

/// <summary>A file opened for reading, with what a download needs to answer Range and If-None-Match.</summary>
public sealed record OpenedFile(FileStream Stream, string Name, long Length, DateTimeOffset LastModified, string ETag, string ContentType);

/// <summary>Where a resumable upload stands: bytes received of the total.</summary>
public sealed record UploadProgress(long Received, long Total, bool Complete, FileEntry? File);

/// <summary>
/// Files inside volumes: list, create folders, upload, download, move, copy, delete, zip, preview.
/// Every path comes resolved and permission-checked by <see cref="VolumeService"/>, and is then walked
/// without following links (<see cref="NoFollow"/>). Writes go to a temp file, are fsynced, then
/// renamed into place: a reader sees the old file or the whole new one, never a half.
/// </summary>
public sealed class FileService(VolumeService volumes, QuotaService quotas, IOptions<FilesOptions> options, TimeProvider time, ILogger<FileService> logger)
{
    private const int MaxPageSize = 10_000;

    /// <summary>The most entries one tree listing returns; a larger tree is refused, not cut short.</summary>
    public const int MaxTreeEntries = 100_000;

    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    public Task<VolumeLocation> ResolveAsync(Caller caller, string? path, ResourceActions action, CancellationToken ct) =>
        volumes.ResolveAsync(caller, path, action, ct);

    /// <summary>A folder's entries, folders first, then by name; paged.</summary>
    public FolderListing List(VolumeLocation location, int offset = 0, int limit = 1000, string? pattern = null)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (offset < 0 || limit is < 1 or > MaxPageSize)
        {
            throw PlatformException.Invalid($"offset is 0 or more and limit between 1 and {MaxPageSize}.", "limit");
        }

        using var folder = NoFollow.OpenDirectory(location.VolumeFolder, location.Names);
        var entries = new List<FileEntry>();
        foreach (var info in new DirectoryInfo(NoFollow.PathOf(folder)).EnumerateFileSystemInfos(string.IsNullOrEmpty(pattern) ? "*" : pattern,
                     new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0, MatchType = MatchType.Simple }))
        {
            // Links are not followed, so they are not shown either; the platform's own folder is hidden.
            if (info.LinkTarget is not null || info.Name == VolumeService.UploadFolderName)
            {
                continue;
            }

            entries.Add(ToEntry(info));
        }

        var sorted = entries.OrderByDescending(e => e.IsFolder).ThenBy(e => e.Name, StringComparer.Ordinal).ToList();
        return new FolderListing(location.Display, sorted.Count, offset, sorted.Skip(offset).Take(limit).ToList());
    }

    /// <summary>
    /// A folder and what it holds, <paramref name="depth"/> levels down: 0 is the folder alone, 1 adds its
    /// entries, and folders at the last level are listed without their content. Entries are sorted by name;
    /// links are left out (never followed) and so is the platform's upload folder. A
    /// <paramref name="filePattern"/> (<c>*</c> and <c>?</c>) filters files by name; folders are always
    /// listed, so the tree can be walked. More than <see cref="MaxTreeEntries"/> entries is a 400.
    /// </summary>
    public FolderTree Tree(VolumeLocation location, int depth, string? filePattern = null)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (depth < 0)
        {
            throw PlatformException.Invalid("The depth of a listing is 0 or more.", "level");
        }

        using var folder = NoFollow.OpenDirectory(location.VolumeFolder, location.Names);
        var info = new DirectoryInfo(NoFollow.PathOf(folder));
        var name = location.Name ?? location.UserVolume?.Name ?? location.DataVolume?.Name ?? "";
        var self = new FileEntry(name, true, 0, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero), new DateTimeOffset(info.CreationTimeUtc, TimeSpan.Zero));
        var count = 0;
        // Nothing on disk is deeper than a path may be; a session's deeper folders are not walked.
        return WalkTree(folder, self, Math.Min(depth, VolumePaths.MaxDepth), string.IsNullOrEmpty(filePattern) ? null : filePattern, ref count);
    }

    /// <summary>The ETag a download of the file would carry now (an upload's answer sets it).</summary>
    public string ETagOf(VolumeLocation location)
    {
        ArgumentNullException.ThrowIfNull(location);
        var name = location.Name ?? throw PlatformException.Invalid("Name a file.", "path");
        using var parent = NoFollow.OpenDirectory(location.VolumeFolder, location.ParentNames);
        return NoFollow.KindOf(parent, name) == EntryKind.File
            ? ETagOf(new FileInfo(NoFollow.PathOf(parent, name)))
            : throw PlatformException.NotFound($"'{location.Display}' is not a file.");
    }

    /// <summary>Information on one file or folder.</summary>
    public FileEntry Stat(VolumeLocation location)
    {
        ArgumentNullException.ThrowIfNull(location);
        if (location.Name is null)
        {
            using var self = NoFollow.OpenDirectory(location.VolumeFolder, []);
            var dir = new DirectoryInfo(NoFollow.PathOf(self));
            return new FileEntry(location.UserVolume?.Name ?? location.DataVolume?.Name ?? Path.GetFileName(location.VolumeFolder), true, 0, dir.LastWriteTimeUtc, dir.CreationTimeUtc);
        }

        using var parent = NoFollow.OpenDirectory(location.VolumeFolder, location.ParentNames);
        return NoFollow.KindOf(parent, location.Name) switch
        {
            EntryKind.Missing => throw PlatformException.NotFound($"'{location.Display}' does not exist."),
            EntryKind.Link => throw PlatformException.Forbidden($"'{location.Name}' is a symbolic link; the file service does not follow links."),
            EntryKind.Directory => ToEntry(new DirectoryInfo(NoFollow.PathOf(parent, location.Name))),
            EntryKind.File => ToEntry(new FileInfo(NoFollow.PathOf(parent, location.Name))),
        };
    }

    /// <summary>Creates a folder and any missing parents; an existing folder is fine unless <paramref name="mustBeNew"/>.</summary>
    public FileEntry CreateFolder(VolumeLocation location, bool mustBeNew = false)
    {
        ArgumentNullException.ThrowIfNull(location);
        var name = location.Name ?? throw PlatformException.Invalid("Name the folder to create.", "path");
        using var parent = NoFollow.OpenDirectory(location.VolumeFolder, location.ParentNames, create: true);
        switch (NoFollow.KindOf(parent, name))
        {
            case EntryKind.Missing:
                NoFollow.CreateDirectory(parent, name);
                break;
            case EntryKind.Directory when !mustBeNew:
                break;
            case EntryKind.Directory:
            case EntryKind.File:
                throw PlatformException.Conflict($"'{location.Display}' exists already.");
            case EntryKind.Link:
                throw PlatformException.Forbidden($"'{name}' is a symbolic link; the file service does not follow links.");
        }

        return ToEntry(new DirectoryInfo(NoFollow.PathOf(parent, name)));
    }

    /// <summary>
    /// Writes a whole file from a stream: quota-checked before (declared length) and while reading,
    /// into a temp file that is fsynced and renamed into place. With <paramref name="overwrite"/> false an
    /// existing file is a 409. On any failure the temp file is removed and the old file is untouched.
    /// </summary>
    public async Task<FileEntry> UploadAsync(VolumeLocation location, Stream body, long? declaredLength, bool overwrite, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(location);
        ArgumentNullException.ThrowIfNull(body);
        var name = location.Name ?? throw PlatformException.Invalid("Name the file to upload.", "path");
        using var parent = NoFollow.OpenDirectory(location.VolumeFolder, location.ParentNames, create: true);
        var existing = NoFollow.KindOf(parent, name);
        CheckTarget(existing, name, overwrite, location.Display);
        var oldSize = existing == EntryKind.File ? new FileInfo(NoFollow.PathOf(parent, name)).Length : 0;
        await quotas.EnsureRoomAsync(location, Math.Max(0, (declaredLength ?? 0) - oldSize), existing == EntryKind.File ? 0 : 1, ct);

        using var uploads = OpenUploadFolder(location);
        var temp = "put-" + Guid.NewGuid().ToString("N") + ".part";
        long written;
        try
        {
            await using (var output = NoFollow.CreateNew(uploads, temp))
            {
                written = await CopyWithQuotaAsync(body, output, location, oldSize, existing == EntryKind.File ? 0 : 1, ct);
                if (declaredLength is { } expected && expected != written)
                {
                    throw PlatformException.Invalid($"The upload ended after {written} of {expected} bytes; nothing was saved.", "path");
                }

                output.Flush(flushToDisk: true);
            }

            NoFollow.Rename(uploads, temp, parent, name, replace: overwrite);
            NoFollow.SyncDirectory(parent);
        }
        catch (Exception e)
        {
            TryDelete(uploads, temp);
            throw Translate(e);
        }

        quotas.Adjust(location, written - oldSize, existing == EntryKind.File ? 0 : 1);
        Log.Uploaded(logger, location.Display, written);
        return ToEntry(new FileInfo(NoFollow.PathOf(parent, name)));
    }

    /// <summary>
    /// One chunk of a resumable upload (<c>Content-Range: bytes start-end/total</c>). The chunk must start
    /// where the received part ends; the last chunk completes the file as <see cref="UploadAsync"/> does.
    /// </summary>
    public async Task<UploadProgress> UploadChunkAsync(Caller caller, VolumeLocation location, Stream body, long start, long end, long total, bool overwrite, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(location);
        var name = location.Name ?? throw PlatformException.Invalid("Name the file to upload.", "path");
        if (start < 0 || end < start || end >= total)
        {
            throw PlatformException.Invalid($"Content-Range bytes {start}-{end}/{total} is not a valid range.", "Content-Range");
        }

        using var parent = NoFollow.OpenDirectory(location.VolumeFolder, location.ParentNames, create: true);
        var existing = NoFollow.KindOf(parent, name);
        CheckTarget(existing, name, overwrite, location.Display);
        using var uploads = OpenUploadFolder(location);
        var part = PartName(caller, location, total);
        var received = NoFollow.KindOf(uploads, part) == EntryKind.File ? new FileInfo(NoFollow.PathOf(uploads, part)).Length : 0;
        if (start != received)
        {
            throw new PlatformException(ProblemKind.RangeNotSatisfiable,
                $"This upload has {received} bytes so far; send the chunk that starts at byte {received}.") { ResumeOffset = received };
        }

        var oldSize = existing == EntryKind.File ? new FileInfo(NoFollow.PathOf(parent, name)).Length : 0;
        await quotas.EnsureRoomAsync(location, Math.Max(0, received + (end - start + 1) - oldSize), existing == EntryKind.File ? 0 : 1, ct);
        try
        {
            await using (var output = received == 0 && NoFollow.KindOf(uploads, part) == EntryKind.Missing ? NoFollow.CreateNew(uploads, part) : NoFollow.OpenAppend(uploads, part))
            {
                var chunk = await CopyWithQuotaAsync(new LimitedStream(body, end - start + 1), output, location, oldSize - received, existing == EntryKind.File ? 0 : 1, ct);
                output.Flush(flushToDisk: true);
                received += chunk;
            }
        }
        catch (Exception e) when (e is not PlatformException)
        {
            // Keep what was written: the client resumes from the new length.
            throw Translate(e);
        }

        if (received < total)
        {
            return new UploadProgress(received, total, false, null);
        }

        NoFollow.Rename(uploads, part, parent, name, replace: overwrite);
        NoFollow.SyncDirectory(parent);
        quotas.Adjust(location, total - oldSize, existing == EntryKind.File ? 0 : 1);
        Log.Uploaded(logger, location.Display, total);
        return new UploadProgress(total, total, true, ToEntry(new FileInfo(NoFollow.PathOf(parent, name))));
    }

    /// <summary>How much of a resumable upload of <paramref name="total"/> bytes has arrived.</summary>
    public long UploadedSoFar(Caller caller, VolumeLocation location, long total)
    {
        ArgumentNullException.ThrowIfNull(location);
        using var uploads = OpenUploadFolder(location);
        var part = PartName(caller, location, total);
        return NoFollow.KindOf(uploads, part) == EntryKind.File ? new FileInfo(NoFollow.PathOf(uploads, part)).Length : 0;
    }

    /// <summary>
    /// Forgets an unfinished resumable upload of <paramref name="total"/> bytes, so that the next one
    /// starts at byte 0. A part is known only by its caller, path and size: a different file of the same
    /// size sent to the same path would otherwise be appended to the old bytes.
    /// </summary>
    /// <returns>Whether there was a part to remove.</returns>
    public bool DiscardUpload(Caller caller, VolumeLocation location, long total)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(location);
        using var uploads = OpenUploadFolder(location);
        var part = PartName(caller, location, total);
        if (NoFollow.KindOf(uploads, part) != EntryKind.File)
        {
            return false;
        }

        NoFollow.DeleteFile(uploads, part);
        return true;
    }

    /// <summary>Opens a file for download.</summary>
    public OpenedFile OpenRead(VolumeLocation location)
    {
        ArgumentNullException.ThrowIfNull(location);
        var name = location.Name ?? throw PlatformException.Invalid("Name a file to download; for a folder use the zip download.", "path");
        using var parent = NoFollow.OpenDirectory(location.VolumeFolder, location.ParentNames);
        // Unbuffered: the download copies straight from the file into its own buffer, once.
        var stream = NoFollow.OpenRead(parent, name, bufferSize: 0);
        var info = new FileInfo(NoFollow.PathOf(parent, name));
        return new OpenedFile(stream, name, info.Length, new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero), ETagOf(info), ContentTypeOf(name));
    }

    /// <summary>Deletes a file, or a folder with everything in it.</summary>
    public void Delete(VolumeLocation location)
    {
        ArgumentNullException.ThrowIfNull(location);
        var name = location.Name ?? throw PlatformException.Invalid("To delete a whole volume, use the volume's own delete.", "path");
        using var parent = NoFollow.OpenDirectory(location.VolumeFolder, location.ParentNames);
        switch (NoFollow.KindOf(parent, name))
        {
            case EntryKind.Missing:
                throw PlatformException.NotFound($"'{location.Display}' does not exist.");
            case EntryKind.Link:
                throw PlatformException.Forbidden($"'{name}' is a symbolic link; the file service does not follow links.");
            case EntryKind.Directory:
                var (bytes, files) = Measure(parent, name);
                NoFollow.DeleteTree(parent, name);
                quotas.Adjust(location, -bytes, -files);
                break;
            case EntryKind.File:
                var size = new FileInfo(NoFollow.PathOf(parent, name)).Length;
                NoFollow.DeleteFile(parent, name);
                quotas.Adjust(location, -size, -1);
                break;
        }

    }

    /// <summary>
    /// Moves (renames) or copies a file or folder to another place, in the same volume or another one
    /// the caller may write to. The target's quota is checked first.
    /// </summary>
    public async Task<FileEntry> TransferAsync(VolumeLocation from, VolumeLocation to, bool copy, bool replace, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var fromName = from.Name ?? throw PlatformException.Invalid("Name the file or folder to move or copy; a whole volume cannot be moved.", "path");
        var toName = to.Name ?? throw PlatformException.Invalid("Name the destination file or folder.", "destinationPath");
        using var source = NoFollow.OpenDirectory(from.VolumeFolder, from.ParentNames);
        var kind = NoFollow.KindOf(source, fromName);
        if (kind == EntryKind.Missing)
        {
            throw PlatformException.NotFound($"'{from.Display}' does not exist.");
        }

        if (kind == EntryKind.Link)
        {
            throw PlatformException.Forbidden($"'{fromName}' is a symbolic link; the file service does not follow links.");
        }

        if (kind == EntryKind.Directory && IsInside(from, to))
        {
            throw PlatformException.Invalid("A folder cannot be moved or copied into itself.", "destinationPath");
        }

        using var target = NoFollow.OpenDirectory(to.VolumeFolder, to.ParentNames, create: true);
        var existing = NoFollow.KindOf(target, toName);
        if (existing != EntryKind.Missing && (!replace || existing == EntryKind.Link || existing != kind))
        {
            throw PlatformException.Conflict(replace ? $"'{to.Display}' exists and is not a {(kind == EntryKind.Directory ? "folder" : "file")}." : $"'{to.Display}' exists already.");
        }

        var sameOwner = from.UserVolume is not null && to.UserVolume is not null && from.UserVolume.OwnerId == to.UserVolume.OwnerId && from.Root?.Name == to.Root?.Name;
        var (bytes, files) = kind == EntryKind.File ? (new FileInfo(NoFollow.PathOf(source, fromName)).Length, 1L) : Measure(source, fromName);
        if (copy || !sameOwner)
        {
            await quotas.EnsureRoomAsync(to, bytes, files, ct);
        }

        try
        {
            if (!copy && SameFileSystem(from, to))
            {
                ReplaceFolderSafely(target, toName, existing, () => NoFollow.Rename(source, fromName, target, toName, replace: replace));
            }
            else
            {
                var temp = "copy-" + Guid.NewGuid().ToString("N");
                await CopyEntryAsync(source, fromName, target, temp, kind, ct);
                ReplaceFolderSafely(target, toName, existing, () => NoFollow.Rename(target, temp, target, toName, replace: replace));
                if (!copy)
                {
                    if (kind == EntryKind.Directory)
                    {
                        NoFollow.DeleteTree(source, fromName);
                    }
                    else
                    {
                        NoFollow.DeleteFile(source, fromName);
                    }
                }
            }

            NoFollow.SyncDirectory(target);
        }
        catch (Exception e)
        {
            throw Translate(e);
        }

        if (copy || !sameOwner)
        {
            quotas.Adjust(to, bytes, files);
            if (!copy)
            {
                quotas.Adjust(from, -bytes, -files);
            }
        }

        return kind == EntryKind.Directory ? ToEntry(new DirectoryInfo(NoFollow.PathOf(target, toName))) : ToEntry(new FileInfo(NoFollow.PathOf(target, toName)));
    }

    /// <summary>Writes a folder as a zip to <paramref name="output"/>, streaming, links left out.</summary>
    public async Task WriteZipAsync(VolumeLocation location, Stream output, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(location);
        using var folder = NoFollow.OpenDirectory(location.VolumeFolder, location.Names);
        await using var zip = await ZipArchive.CreateAsync(output, ZipArchiveMode.Create, leaveOpen: true, entryNameEncoding: null, ct);
        await AddToZipAsync(zip, folder, "", ct);
    }

    /// <summary>The first bytes of a text file, for a preview.</summary>
    public async Task<string> ReadTextHeadAsync(VolumeLocation location, int maxBytes, CancellationToken ct)
    {
        var file = OpenRead(location);
        await using var stream = file.Stream;
        var buffer = new byte[Math.Min(maxBytes, Math.Max(0, file.Length))];
        var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, ct);
        // Decode without flushing, so a character cut at the end of the preview is left out, not garbled.
        var chars = new char[Encoding.UTF8.GetMaxCharCount(read)];
        var count = Encoding.UTF8.GetDecoder().GetChars(buffer, 0, read, chars, 0, flush: read < buffer.Length);
        return new string(chars, 0, count);
    }

    public static string ContentTypeOf(string name) =>
        ContentTypes.TryGetContentType(name, out var type) ? type
        : name.EndsWith(".fits", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".fit", StringComparison.OrdinalIgnoreCase) ? "application/fits"
        : name.EndsWith(".ipynb", StringComparison.OrdinalIgnoreCase) ? "application/x-ipynb+json"
        : "application/octet-stream";

    /// <summary>Cleans partial uploads older than their lifetime (and, at start, all abandoned temp files).</summary>
    public void CleanUploadFolders(bool startup)
    {
        var cutoff = time.GetUtcNow() - options.Value.PartialUploadLifetime;
        foreach (var root in volumes.Roots)
        {
            var folder = new DirectoryInfo(Path.Combine(volumes.RootPath(root), VolumeService.UploadFolderName));
            if (!folder.Exists || folder.LinkTarget is not null)
            {
                continue;
            }

            foreach (var file in folder.EnumerateFiles())
            {
                // Whole-file uploads ("put-") die with the request; resumable parts ("res-") live until their lifetime ends.
                if ((startup && file.Name.StartsWith("put-", StringComparison.Ordinal)) || file.Name.StartsWith("copy-", StringComparison.Ordinal)
                    || file.LastWriteTimeUtc < cutoff.UtcDateTime)
                {
                    file.Delete();
                }
            }
        }
    }

    private static SafeFileHandle OpenUploadFolder(VolumeLocation location)
    {
        var folder = location.UploadFolder;
        var created = Directory.CreateDirectory(folder);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(created.FullName, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return NoFollow.OpenDirectory(folder, []);
    }

    private static string PartName(Caller caller, VolumeLocation location, long total) =>
        "res-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{caller.UserId}\n{location.Display}\n{total}")))[..32] + ".part";

    private async Task<long> CopyWithQuotaAsync(Stream input, Stream output, VolumeLocation location, long replacedBytes, long newFiles, CancellationToken ct)
    {
        var buffer = new byte[1 << 20];
        long total = 0;
        long checkedUpTo = 0;
        int read;
        while ((read = await input.ReadAsync(buffer, ct)) > 0)
        {
            await output.WriteAsync(buffer.AsMemory(0, read), ct);
            total += read;
            // Re-check every 64 MiB, so a stream without a declared length still stops at the quota.
            if (total - checkedUpTo >= 64L << 20)
            {
                await quotas.EnsureRoomAsync(location, Math.Max(0, total - replacedBytes), newFiles, ct);
                checkedUpTo = total;
            }
        }

        await quotas.EnsureRoomAsync(location, Math.Max(0, total - replacedBytes), newFiles, ct);
        return total;
    }

    private static async Task CopyEntryAsync(SafeFileHandle fromDir, string fromName, SafeFileHandle toDir, string toName, EntryKind kind, CancellationToken ct)
    {
        if (kind == EntryKind.File)
        {
            await using var input = NoFollow.OpenRead(fromDir, fromName);
            await using var output = NoFollow.CreateNew(toDir, toName);
            await input.CopyToAsync(output, 1 << 20, ct);
            output.Flush(flushToDisk: true);
            return;
        }

        NoFollow.CreateDirectory(toDir, toName);
        using var from = NoFollow.OpenDirectory(NoFollow.PathOf(fromDir), [fromName]);
        using var to = NoFollow.OpenDirectory(NoFollow.PathOf(toDir), [toName]);
        foreach (var entry in new DirectoryInfo(NoFollow.PathOf(from)).EnumerateFileSystemInfos())
        {
            if (entry.LinkTarget is not null)
            {
                continue;
            }

            await CopyEntryAsync(from, entry.Name, to, entry.Name, entry is DirectoryInfo ? EntryKind.Directory : EntryKind.File, ct);
        }
    }

    private static (long Bytes, long Files) Measure(SafeFileHandle parent, string name) =>
        FolderSize.Measure(new DirectoryInfo(NoFollow.PathOf(parent, name)));

    private static async Task AddToZipAsync(ZipArchive zip, SafeFileHandle folder, string prefix, CancellationToken ct)
    {
        foreach (var entry in new DirectoryInfo(NoFollow.PathOf(folder)).EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            if (entry.LinkTarget is not null || entry.Name == VolumeService.UploadFolderName)
            {
                continue;
            }

            if (entry is DirectoryInfo)
            {
                using var sub = NoFollow.OpenDirectory(NoFollow.PathOf(folder), [entry.Name]);
                await AddToZipAsync(zip, sub, prefix + entry.Name + "/", ct);
                continue;
            }

            var zipEntry = zip.CreateEntry(prefix + entry.Name, CompressionLevel.Fastest);
            zipEntry.LastWriteTime = entry.LastWriteTimeUtc;
            await using var input = NoFollow.OpenRead(folder, entry.Name);
            await using var output = await zipEntry.OpenAsync(ct);
            await input.CopyToAsync(output, 1 << 16, ct);
        }
    }

    private static FolderTree WalkTree(SafeFileHandle folder, FileEntry self, int depth, string? filePattern, ref int count)
    {
        if (depth == 0)
        {
            return new FolderTree(self, [], []);
        }

        var folders = new List<FolderTree>();
        var files = new List<FileEntry>();
        foreach (var entry in new DirectoryInfo(NoFollow.PathOf(folder)).EnumerateFileSystemInfos("*", new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0 })
                     .OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            if (entry.LinkTarget is not null || entry.Name == VolumeService.UploadFolderName)
            {
                continue;
            }

            if (entry is DirectoryInfo)
            {
                CountTreeEntry(ref count);
                SafeFileHandle sub;
                try
                {
                    sub = NoFollow.OpenDirectory(NoFollow.PathOf(folder), [entry.Name]);
                }
                catch (PlatformException)
                {
                    // Replaced by a link or removed since the folder was read: left out, as links are.
                    continue;
                }

                using (sub)
                {
                    folders.Add(WalkTree(sub, ToEntry(entry), depth - 1, filePattern, ref count));
                }
            }
            else if (filePattern is null || System.IO.Enumeration.FileSystemName.MatchesSimpleExpression(filePattern, entry.Name, ignoreCase: false))
            {
                CountTreeEntry(ref count);
                files.Add(ToEntry(entry));
            }
        }

        return new FolderTree(self, folders, files);
    }

    private static void CountTreeEntry(ref int count)
    {
        if (++count > MaxTreeEntries)
        {
            throw PlatformException.Invalid($"The listing would hold more than {MaxTreeEntries} entries; ask for fewer levels or a narrower pattern.", "level");
        }
    }

    /// <summary>
    /// Puts something in place of <paramref name="name"/>. A folder being replaced is first moved aside
    /// and removed only once the new one is in place, so a failure leaves the old folder where it was.
    /// </summary>
    private static void ReplaceFolderSafely(SafeFileHandle folder, string name, EntryKind existing, Action putInPlace)
    {
        if (existing != EntryKind.Directory)
        {
            putInPlace();
            return;
        }

        var aside = ".replaced-" + Guid.NewGuid().ToString("N");
        NoFollow.Rename(folder, name, folder, aside, replace: false);
        try
        {
            putInPlace();
        }
        catch
        {
            NoFollow.Rename(folder, aside, folder, name, replace: false);
            throw;
        }

        NoFollow.DeleteTree(folder, aside);
    }

    private static void CheckTarget(EntryKind existing, string name, bool overwrite, string display)
    {
        switch (existing)
        {
            case EntryKind.Link:
                throw PlatformException.Forbidden($"'{name}' is a symbolic link; the file service does not follow links.");
            case EntryKind.Directory:
                throw PlatformException.Conflict($"'{display}' is a folder.");
            case EntryKind.File when !overwrite:
                throw PlatformException.Conflict($"'{display}' exists already; ask to overwrite it to replace it.");
            case EntryKind.File:
            case EntryKind.Missing:
                break;
        }
    }

    private static bool IsInside(VolumeLocation folder, VolumeLocation target) =>
        folder.VolumeFolder == target.VolumeFolder && target.Names.Count >= folder.Names.Count
        && folder.Names.Select((n, i) => n == target.Names[i]).All(same => same);

    private static bool SameFileSystem(VolumeLocation a, VolumeLocation b) =>
        a.UploadFolder == b.UploadFolder;

    private static void TryDelete(SafeFileHandle folder, string name)
    {
        try
        {
            NoFollow.DeleteFile(folder, name);
        }
        catch (Exception e) when (e is IOException or PlatformException)
        {
            // Already gone; the start-up sweep removes anything left.
        }
    }

    private static Exception Translate(Exception e) => e switch
    {
        PlatformException => e,
        IOException io when NoFollow.IsDiskFull(io) => new PlatformException(ProblemKind.InsufficientStorage, "The disk is full; nothing was saved. Free space or ask an administrator."),
        _ => e,
    };

    private static string ETagOf(FileInfo info) =>
        $"\"{info.Length:x}-{info.LastWriteTimeUtc.Ticks:x}\"";

    private static FileEntry ToEntry(FileSystemInfo info) =>
        new(info.Name, info is DirectoryInfo, info is FileInfo f ? f.Length : 0,
            new DateTimeOffset(info.LastWriteTimeUtc, TimeSpan.Zero), new DateTimeOffset(info.CreationTimeUtc, TimeSpan.Zero));
}

/// <summary>Bytes and files in a folder tree, links not followed.</summary>
internal static class FolderSize
{
    public static (long Bytes, long Files) Measure(DirectoryInfo folder)
    {
        long bytes = 0, files = 0;
        var stack = new Stack<DirectoryInfo>([folder]);
        while (stack.TryPop(out var dir))
        {
            foreach (var entry in dir.EnumerateFileSystemInfos("*", new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = 0 }))
            {
                if (entry.LinkTarget is not null)
                {
                    continue;
                }

                if (entry is DirectoryInfo sub)
                {
                    stack.Push(sub);
                }
                else if (entry is FileInfo file)
                {
                    bytes += file.Length;
                    files++;
                }
            }
        }

        return (bytes, files);
    }
}

/// <summary>Reads at most a given number of bytes from another stream (one chunk of an upload).</summary>
internal sealed class LimitedStream(Stream inner, long limit) : Stream
{
    private long _left = limit;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_left <= 0)
        {
            return 0;
        }

        var read = await inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], cancellationToken);
        _left -= read;
        return read;
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("Read asynchronously.");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

internal static partial class Log
{
    [LoggerMessage(1210, LogLevel.Information, "Uploaded {Path} ({Bytes} bytes)")]
    public static partial void Uploaded(ILogger logger, string path, long bytes);
}
