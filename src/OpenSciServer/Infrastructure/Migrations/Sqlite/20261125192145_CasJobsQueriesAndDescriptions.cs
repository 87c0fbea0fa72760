using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace OpenSciServer.Infrastructure.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class CasJobsQueriesAndDescriptions : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<int>(
                name: "QuickQueryTimeoutSeconds",
                table: "catalog_contexts",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.CreateTable(
                name: "catalog_descriptions",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    ContextId = table.Column<long>(type: "INTEGER", nullable: false),
                    Table = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    Column = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    Description = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: false),
                    Unit = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_catalog_descriptions", x => x.Id);
                    table.ForeignKey(
                        name: "FK_catalog_descriptions_catalog_contexts_ContextId",
                        column: x => x.ContextId,
                        principalTable: "catalog_contexts",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "query_jobs",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    UserId = table.Column<Guid>(type: "TEXT", nullable: false),
                    UserName = table.Column<string>(type: "TEXT", maxLength: 32, nullable: false),
                    Context = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    Query = table.Column<string>(type: "TEXT", nullable: false),
                    TaskName = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    CreatedTable = table.Column<string>(type: "TEXT", maxLength: 128, nullable: true),
                    Status = table.Column<int>(type: "INTEGER", nullable: false),
                    SubmittedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    StartedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    FinishedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    Rows = table.Column<long>(type: "INTEGER", nullable: true),
                    Message = table.Column<string>(type: "TEXT", maxLength: 4000, nullable: true),
                    WorkerPid = table.Column<int>(type: "INTEGER", nullable: true),
                    Attempts = table.Column<int>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_query_jobs", x => x.Id);
                });

            migrationBuilder.CreateIndex(
                name: "IX_catalog_descriptions_ContextId_Table_Column",
                table: "catalog_descriptions",
                columns: new[] { "ContextId", "Table", "Column" },
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_query_jobs_Status",
                table: "query_jobs",
                column: "Status");

            migrationBuilder.CreateIndex(
                name: "IX_query_jobs_UserId_SubmittedAt",
                table: "query_jobs",
                columns: new[] { "UserId", "SubmittedAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "catalog_descriptions");

            migrationBuilder.DropTable(
                name: "query_jobs");

            migrationBuilder.DropColumn(
                name: "QuickQueryTimeoutSeconds",
                table: "catalog_contexts");
        }
    }
}
